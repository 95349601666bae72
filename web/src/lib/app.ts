import { AccountActions } from "./account";
import { ChatActions } from "./chatActions";
import { AppModel } from "./model";

/** The app's single model and its actions (one page, one signed-in user at a time). */
export const model = new AppModel();
export const chatActions = new ChatActions(model);
export const account = new AccountActions(model);
