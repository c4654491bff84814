/** Entry of the demo softphone page (`/demo/softphone/`). */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Softphone } from "./Softphone";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Softphone />
  </StrictMode>,
);
