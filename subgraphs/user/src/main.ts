import { runSubgraph } from "@commerce/kit";
import { userSubgraph } from "./module";

runSubgraph(userSubgraph);
