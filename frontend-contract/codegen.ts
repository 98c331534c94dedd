// graphql-codegen: a typed document per operation in this folder, into generated/.
//
// `npm run codegen` rewrites generated/ from ../schema.graphql and the .graphql
// files here; the result is committed, and tests/graphql/test_typescript_kit.py fails
// when it differs from a fresh generation (CODEGEN_OUT points that run elsewhere).
import type { CodegenConfig } from "@graphql-codegen/cli";

const out = process.env.CODEGEN_OUT ?? "generated/";

const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["*/*.graphql", "!node_modules/**", "!generated/**", "!example/**"],
  ignoreNoDocuments: false,
  generates: {
    [out]: {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
        // Trusted documents (issue 19): generated/persisted-documents.json maps
        // "sha256:<hex>" to each document, and each document carries its hash in
        // `__meta__.hash`; the SPA sends {"documentId": hash} instead of the text.
        // The server keeps a copy (backend/graphql/persisted-documents.json).
        persistedDocuments: { hashAlgorithm: "sha256", hashPropertyName: "hash" },
      },
      config: {
        documentMode: "string",
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: {
          DateTime: "string",
          Date: "string",
          Decimal: "string",
          JSON: "unknown",
        },
      },
    },
  },
};

export default config;
