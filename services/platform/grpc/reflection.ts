import { readFileSync } from 'node:fs';
import type { ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import {
  ServerReflectionService as ReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from '../../../generated/grpc/reflection/v1/reflection.js';
import { ServerReflectionService as ReflectionV1Alpha } from '../../../generated/grpc/reflection/v1alpha/reflection.js';

/**
 * gRPC server reflection (v1 and v1alpha), answered from the FileDescriptorSet that `npm run gen`
 * builds with buf (generated/descriptors.binpb). Serving the compiler's own descriptors, with
 * every transitive import, is what lets grpcurl and `buf curl` resolve well-known types such as
 * google.protobuf.Timestamp — the descriptors @grpc/reflection rebuilds from a proto-loader
 * package definition lose those imports.
 */
export class DescriptorIndex {
  private readonly files = new Map<string, { proto: FileDescriptorProto; bytes: Uint8Array }>();
  private readonly fileBySymbol = new Map<string, string>();

  constructor(descriptorSet: Uint8Array) {
    for (const file of fromBinary(FileDescriptorSetSchema, descriptorSet).file) {
      this.files.set(file.name, { proto: file, bytes: toBinary(FileDescriptorProtoSchema, file) });
      const prefix = file.package ? `${file.package}.` : '';
      const addMessages = (messages: DescriptorProto[], scope: string) => {
        for (const message of messages) {
          const name = `${scope}${message.name}`;
          this.fileBySymbol.set(name, file.name);
          for (const e of message.enumType) this.fileBySymbol.set(`${name}.${e.name}`, file.name);
          addMessages(message.nestedType, `${name}.`);
        }
      };
      addMessages(file.messageType, prefix);
      for (const e of file.enumType) this.fileBySymbol.set(`${prefix}${e.name}`, file.name);
      for (const service of file.service) {
        this.fileBySymbol.set(`${prefix}${service.name}`, file.name);
        for (const method of service.method) this.fileBySymbol.set(`${prefix}${service.name}.${method.name}`, file.name);
      }
    }
  }

  static load(path: string | URL): DescriptorIndex {
    return new DescriptorIndex(readFileSync(path));
  }

  hasService(name: string): boolean {
    return this.fileBySymbol.has(name);
  }

  /** The file and all its transitive imports, the requested file first, each once. */
  fileWithImports(fileName: string): Uint8Array[] | undefined {
    if (!this.files.has(fileName)) return undefined;
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (name: string) => {
      const entry = this.files.get(name);
      if (!entry || seen.has(name)) return;
      seen.add(name);
      out.push(entry.bytes);
      for (const dependency of entry.proto.dependency) visit(dependency);
    };
    visit(fileName);
    return out;
  }

  fileContainingSymbol(symbol: string): string | undefined {
    return this.fileBySymbol.get(symbol.replace(/^\./, ''));
  }
}

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

function answer(index: DescriptorIndex, services: string[], req: ServerReflectionRequest): ServerReflectionResponse {
  const base = { validHost: req.host, originalRequest: req };
  const files = (fileName: string | undefined, what: string): ServerReflectionResponse => {
    const bytes = fileName === undefined ? undefined : index.fileWithImports(fileName);
    if (!bytes) return { ...base, errorResponse: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };
    return { ...base, fileDescriptorResponse: { fileDescriptorProto: bytes.map((b) => Buffer.from(b)) } };
  };
  if (req.listServices !== undefined) {
    return { ...base, listServicesResponse: { service: services.map((name) => ({ name })) } };
  }
  if (req.fileByFilename !== undefined) return files(req.fileByFilename, `file ${req.fileByFilename}`);
  if (req.fileContainingSymbol !== undefined) {
    return files(index.fileContainingSymbol(req.fileContainingSymbol), `symbol ${req.fileContainingSymbol}`);
  }
  if (req.allExtensionNumbersOfType !== undefined) {
    // Orderflow's contracts declare no extensions.
    return { ...base, allExtensionNumbersResponse: { baseTypeName: req.allExtensionNumbersOfType, extensionNumber: [] } };
  }
  return { ...base, errorResponse: { errorCode: UNIMPLEMENTED, errorMessage: 'reflection request not supported' } };
}

/** The v1 and v1alpha reflection services, listing `services` (fully qualified names). */
export function reflectionServices(
  index: DescriptorIndex,
  services: () => string[],
): { definition: ServiceDefinition; implementation: UntypedServiceImplementation }[] {
  const implementation = {
    serverReflectionInfo(call: ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>) {
      call.on('data', (req: ServerReflectionRequest) => call.write(answer(index, services(), req)));
      call.on('end', () => call.end());
      call.on('error', () => call.end());
    },
  };
  return [
    { definition: ReflectionV1 as unknown as ServiceDefinition, implementation },
    { definition: ReflectionV1Alpha as unknown as ServiceDefinition, implementation },
  ];
}
