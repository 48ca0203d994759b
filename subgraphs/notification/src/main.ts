import { runSubgraph } from "@commerce/kit";
import { notificationSubgraph } from "./module";

runSubgraph(notificationSubgraph);
