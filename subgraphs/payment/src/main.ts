import { runSubgraph } from "@commerce/kit";
import { paymentSubgraph } from "./module";

runSubgraph(paymentSubgraph);
