import { runSubgraph } from "@commerce/kit";
import { productSubgraph } from "./module";

runSubgraph(productSubgraph);
