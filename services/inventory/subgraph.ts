// The inventory subgraph: the Product entity, the products connection and the catalog mutations.
// Products referenced by other subgraphs (an order's lines) are fetched with one
// BatchGetProducts per request, however many orders and lines ask for them.
import type DataLoader from 'dataloader';
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import { InventoryServiceService, type Product } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { batchLoader, connection, grpcClient, pageSize, viaGrpc, type SubgraphDefinition } from '../platform/index.js';
import { pageToken } from './requests.js';

const typeDefs = /* GraphQL */ `
  type Query {
    "A product by sku; null when there is none."
    product(sku: ID!): Product
    "The catalog, by sku."
    products(first: Int = 20, after: String): ProductConnection!
  }

  type Mutation {
    "Adds a product to the catalog with its first stock. A sku can be created once."
    createProduct(input: CreateProductInput!): Product!
    "Adds stock on hand."
    restock(sku: ID!, quantity: Int!): Product!
    "Changes the price of future orders; placed orders keep theirs."
    updatePrice(sku: ID!, price: MoneyInput!): Product!
  }

  type Product @key(fields: "sku") {
    sku: ID!
    name: String!
    price: Money!
    "Stock in the warehouse: available + reserved."
    onHand: Int!
    "What new orders can reserve."
    available: Int!
    "Held for orders in progress."
    reserved: Int!
    "Left the warehouse with completed orders (counted apart from on hand)."
    shipped: Int!
    version: Int!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type ProductConnection {
    edges: [ProductEdge!]!
    nodes: [Product!]!
    pageInfo: PageInfo!
  }

  type ProductEdge {
    cursor: String!
    node: Product!
  }

  input CreateProductInput {
    sku: ID!
    name: String!
    price: MoneyInput!
    "Initial stock; default 0."
    onHand: Int
  }

  "Money in integer minor units (cents) of an ISO 4217 currency."
  input MoneyInput {
    amountMinor: Int!
    currency: String!
  }
`;

type InventoryClient = ReturnType<typeof grpcClient<typeof InventoryServiceService>>;

export interface InventoryContext {
  client: InventoryClient;
  products: DataLoader<string, Product | null>;
}

export function inventorySubgraph(grpcTarget: string): SubgraphDefinition<InventoryContext> {
  const client = grpcClient(InventoryServiceService, grpcTarget);
  return {
    typeDefs,
    context: () => ({
      client,
      products: batchLoader(async (skus) => (await client.batchGetProducts({ skus })).products, (p) => p.sku),
    }),
    close: () => client.close(),
    resolvers: {
      Query: {
        product: (_: unknown, args: { sku: string }, ctx: InventoryContext) => ctx.products.load(args.sku),
        async products(_: unknown, args: { first: number | null; after?: string | null }, ctx: InventoryContext) {
          const response = await viaGrpc(ctx.client.listProducts({ pageSize: pageSize(args.first), pageToken: args.after ?? '' }), {
            rename: { page_size: 'first', page_token: 'after' },
          });
          for (const product of response.products) ctx.products.prime(product.sku, product);
          return connection(response.products, (p) => pageToken(p.sku), response.nextPageToken);
        },
      },
      Mutation: {
        async createProduct(_: unknown, { input }: { input: { sku: string; name: string; price: Money; onHand?: number | null } }, ctx: InventoryContext) {
          const request = { sku: input.sku, name: input.name, price: input.price, onHand: input.onHand ?? 0 };
          return (await viaGrpc(ctx.client.createProduct(request), { argument: 'input' })).product;
        },
        async restock(_: unknown, args: { sku: string; quantity: number }, ctx: InventoryContext) {
          return (await viaGrpc(ctx.client.restock(args))).product;
        },
        async updatePrice(_: unknown, args: { sku: string; price: Money }, ctx: InventoryContext) {
          return (await viaGrpc(ctx.client.updatePrice(args))).product;
        },
      },
      Product: {
        __resolveReference: (ref: { sku: string }, ctx: InventoryContext) => ctx.products.load(ref.sku),
      },
    },
  };
}
