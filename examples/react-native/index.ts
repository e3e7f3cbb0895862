// Expo's entry: register the app component.
import { registerRootComponent } from "expo";

import App from "./App";

registerRootComponent(App);
