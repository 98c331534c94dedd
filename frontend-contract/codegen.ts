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
