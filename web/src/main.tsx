import { render } from "preact";
import { model } from "./lib/app";
import { App } from "./ui/App";
import "./styles.css";

render(<App />, document.getElementById("app")!);
void model.start();
