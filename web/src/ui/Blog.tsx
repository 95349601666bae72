import { useEffect, useState } from "preact/hooks";
import { model } from "../lib/app";
import { formatDateTime } from "../lib/format";
import type { BlogPost } from "../lib/sdk";
import { usePaged } from "../lib/usePaged";
import { InlineError, Link, Spinner } from "./common";

/** Just enough Markdown for the blog: headings, list items and paragraphs, as text (never HTML). */
function Body({ markdown }: { markdown: string }) {
  const blocks = markdown
    .split(/\n{2,}/)
    .map((b) => b.trim())
    .filter(Boolean);
  return (
    <div class="post-body">
      {blocks.map((block, i) => {
        const heading = /^(#{1,3})\s+(.*)$/.exec(block);
        if (heading)
          return heading[1]!.length === 1 ? <h2 key={i}>{heading[2]}</h2> : <h3 key={i}>{heading[2]}</h3>;
        const lines = block.split("\n");
        if (lines.every((l) => /^\s*[-*]\s+/.test(l))) {
          return (
            <ul key={i}>
              {lines.map((l, j) => (
                <li key={j}>{l.replace(/^\s*[-*]\s+/, "").replace(/\*\*|__|`/g, "")}</li>
              ))}
            </ul>
          );
        }
        return <p key={i}>{block.replace(/\*\*|__|`/g, "")}</p>;
      })}
    </div>
  );
}

function Post({ postId }: { postId: string }) {
  const [post, setPost] = useState<BlogPost>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setPost(undefined);
    void model
      .attempt(
        "Loading the post",
        model.reader.rest<BlogPost>("GET", `/blog/posts/${encodeURIComponent(postId)}`),
      )
      .then((outcome) => (outcome.ok ? setPost(outcome.value) : setError(outcome.error)));
  }, [postId]);
  return (
    <article class="screen post" aria-labelledby="post-title">
      <Link href="/blog" class="back">
        <span aria-hidden="true">←</span> All posts
      </Link>
      <InlineError text={error} />
      {!post && !error && <Spinner label="Loading the post" />}
      {post && (
        <>
          <h1 id="post-title">{post.title}</h1>
          <p class="muted">
            {post.author} · <time dateTime={post.publishedAt}>{formatDateTime(post.publishedAt)}</time>
          </p>
          <Body markdown={post.body} />
        </>
      )}
    </article>
  );
}

export function Blog({ postId }: { postId: string | undefined }) {
  if (postId) return <Post postId={postId} />;
  return <PostList />;
}

function PostList() {
  const posts = usePaged<BlogPost>("Loading the blog", "/blog/posts", 10);
  return (
    <section class="screen" aria-labelledby="blog-title">
      <div class="screen-head">
        <h1 id="blog-title">Blog</h1>
      </div>
      <InlineError text={posts.error} />
      <ul class="stack">
        {posts.items.map((post) => (
          <li key={post.id} class="card">
            <article aria-labelledby={`post-${post.id}`}>
              <p class="eyebrow">{post.tags.join(" · ")}</p>
              <h2 id={`post-${post.id}`}>
                <Link href={`/blog/${post.id}`}>{post.title}</Link>
              </h2>
              <p class="muted small">
                {post.author} · <time dateTime={post.publishedAt}>{formatDateTime(post.publishedAt)}</time>
              </p>
              <p>{post.summary}</p>
            </article>
          </li>
        ))}
      </ul>
      {posts.loading && <Spinner label="Loading the blog" />}
      {posts.hasMore && !posts.loading && (
        <button type="button" class="btn" onClick={posts.loadMore}>
          Older posts
        </button>
      )}
    </section>
  );
}
