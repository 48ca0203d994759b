# One image for every process (subgraphs, gateway, SMTP sink); docker-compose.yml picks the entry.
FROM node:20-slim
WORKDIR /app

# dependencies first (cached while only sources change)
COPY package.json package-lock.json ./
COPY kit/package.json kit/
COPY streams/package.json streams/
COPY schema/package.json schema/
COPY gateway/package.json gateway/
COPY subgraphs/user/package.json subgraphs/user/
COPY subgraphs/product/package.json subgraphs/product/
COPY subgraphs/order/package.json subgraphs/order/
COPY subgraphs/payment/package.json subgraphs/payment/
COPY subgraphs/notification/package.json subgraphs/notification/
COPY ops/package.json ops/
COPY testing/package.json testing/
# TypeScript runs through @swc-node/register (a devDependency): no build step
RUN npm ci --include=dev --no-audit --no-fund && npm cache clean --force

COPY . .
ENV NODE_ENV=production
# Outside a container processes listen on 127.0.0.1; inside one, other containers must reach them.
ENV HOST=0.0.0.0
USER node
EXPOSE 4000
CMD ["node", "-r", "@swc-node/register", "gateway/src/main.ts"]
