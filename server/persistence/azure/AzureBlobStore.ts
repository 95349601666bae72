import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { assertBlobName, assertContainerName } from "../blobNames.js";
import type { BlobContent, BlobStore } from "../ports.js";
import { mapAzureError, statusOf } from "./azureErrors.js";

/** Azure Blob Storage adapter; containers are private and created on first use. */
export class AzureBlobStore implements BlobStore {
  private readonly containers = new Map<string, Promise<ContainerClient>>();

  constructor(private readonly service: BlobServiceClient) {}

  async ensureContainers(names: readonly string[]): Promise<void> {
    await Promise.all(names.map((n) => this.container(n)));
  }

  async put(container: string, name: string, data: Uint8Array, contentType: string): Promise<void> {
    assertBlobName(name);
    const client = (await this.container(container)).getBlockBlobClient(name);
    try {
      await client.uploadData(data, { blobHTTPHeaders: { blobContentType: contentType } });
    } catch (err) {
      throw mapAzureError(err, `put blob ${container}/${name}`);
    }
  }

  async get(container: string, name: string): Promise<BlobContent | undefined> {
    assertBlobName(name);
    const client = (await this.container(container)).getBlockBlobClient(name);
    try {
      const data = await client.downloadToBuffer();
      const props = await client.getProperties();
      return { data, contentType: props.contentType ?? "application/octet-stream" };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw mapAzureError(err, `get blob ${container}/${name}`);
    }
  }

  async delete(container: string, name: string): Promise<void> {
    assertBlobName(name);
    const client = (await this.container(container)).getBlockBlobClient(name);
    try {
      await client.deleteIfExists();
    } catch (err) {
      throw mapAzureError(err, `delete blob ${container}/${name}`);
    }
  }

  async list(container: string, prefix: string): Promise<string[]> {
    const client = await this.container(container);
    const names: string[] = [];
    try {
      for await (const blob of client.listBlobsFlat({ prefix })) names.push(blob.name);
    } catch (err) {
      throw mapAzureError(err, `list blobs ${container}/${prefix}`);
    }
    return names.sort();
  }

  private container(name: string): Promise<ContainerClient> {
    assertContainerName(name);
    let pending = this.containers.get(name);
    if (!pending) {
      const client = this.service.getContainerClient(name);
      pending = client.createIfNotExists().then(
        () => client,
        (err: unknown) => {
          this.containers.delete(name);
          throw mapAzureError(err, `create container ${name}`);
        },
      );
      this.containers.set(name, pending);
    }
    return pending;
  }
}
