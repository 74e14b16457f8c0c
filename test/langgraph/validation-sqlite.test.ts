import "./vitest-globals.js";
import { validateOn } from "./validate-on.js";

validateOn("sqlite");
