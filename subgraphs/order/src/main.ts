import { runSubgraph } from "@commerce/kit";
import { orderSubgraph } from "./module";

runSubgraph(orderSubgraph);
