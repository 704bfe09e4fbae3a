// Syntax highlighting for the diff viewer with shiki: one highlighter, grammars loaded on
// first use, the JavaScript regex engine (no WebAssembly). Unknown languages stay plain.
import type { HighlighterCore, ThemedToken } from "shiki/core";

const GRAMMARS: Record<string, () => Promise<unknown>> = {
  typescript: () => import("shiki/langs/typescript.mjs"),
  tsx: () => import("shiki/langs/tsx.mjs"),
  javascript: () => import("shiki/langs/javascript.mjs"),
  jsx: () => import("shiki/langs/jsx.mjs"),
  rust: () => import("shiki/langs/rust.mjs"),
  python: () => import("shiki/langs/python.mjs"),
  go: () => import("shiki/langs/go.mjs"),
  json: () => import("shiki/langs/json.mjs"),
  markdown: () => import("shiki/langs/markdown.mjs"),
  svelte: () => import("shiki/langs/svelte.mjs"),
  css: () => import("shiki/langs/css.mjs"),
  html: () => import("shiki/langs/html.mjs"),
  shellscript: () => import("shiki/langs/shellscript.mjs"),
  toml: () => import("shiki/langs/toml.mjs"),
  yaml: () => import("shiki/langs/yaml.mjs"),
  java: () => import("shiki/langs/java.mjs"),
  c: () => import("shiki/langs/c.mjs"),
  cpp: () => import("shiki/langs/cpp.mjs"),
  ruby: () => import("shiki/langs/ruby.mjs"),
};

const BY_EXTENSION: Record<string, string> = {
  ts: "typescript", mts: "typescript", cts: "typescript", tsx: "tsx", js: "javascript", mjs: "javascript",
  cjs: "javascript", jsx: "jsx", rs: "rust", py: "python", go: "go", json: "json", md: "markdown",
  svelte: "svelte", css: "css", html: "html", sh: "shellscript", bash: "shellscript", toml: "toml",
  yaml: "yaml", yml: "yaml", java: "java", c: "c", h: "c", cc: "cpp", cpp: "cpp", hpp: "cpp", rb: "ruby",
};

export function languageOf(path: string): string | null {
  const ext = path.split(".").pop()?.toLowerCase() ?? "";
  return BY_EXTENSION[ext] ?? null;
}

let highlighter: Promise<HighlighterCore> | null = null;
const loaded = new Set<string>();

async function get(): Promise<HighlighterCore> {
  highlighter ??= (async () => {
    const [{ createHighlighterCore }, { createJavaScriptRegexEngine }] = await Promise.all([
      import("shiki/core"),
      import("shiki/engine/javascript"),
    ]);
    return createHighlighterCore({
      themes: [import("shiki/themes/github-light.mjs"), import("shiki/themes/github-dark.mjs")],
      langs: [],
      engine: createJavaScriptRegexEngine(),
    });
  })();
  return highlighter;
}

/** Tokens per line of `lines` (highlighted as one text), or null for an unknown language. */
export async function highlight(lines: string[], path: string, dark: boolean): Promise<ThemedToken[][] | null> {
  const lang = languageOf(path);
  if (!lang) return null;
  const h = await get();
  if (!loaded.has(lang)) {
    const grammar = (await GRAMMARS[lang]()) as { default: Parameters<HighlighterCore["loadLanguage"]>[0] };
    await h.loadLanguage(grammar.default);
    loaded.add(lang);
  }
  return h.codeToTokensBase(lines.join("\n"), { lang, theme: dark ? "github-dark" : "github-light" });
}
