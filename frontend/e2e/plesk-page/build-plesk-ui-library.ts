import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const IMAGE = '\0ui-library-image:';

/**
 * ui-library's icon sprite and placeholder images as URLs of files the page serves (/ui-library/images/, from
 * ui-library's dist), not inlined as data: URLs, which chromium refuses as <use> targets.
 */
function servedImages(): Plugin {
  return {
    name: 'ui-library-images-served',
    enforce: 'pre',
    resolveId(source, importer) {
      return importer?.includes('@plesk/ui-library') && /\/images\/[\w-]+\.svg$/.test(source) ? IMAGE + path.basename(source) : null;
    },
    load(id) {
      return id.startsWith(IMAGE) ? `export default ${JSON.stringify(`/ui-library/images/${id.slice(IMAGE.length)}`)};` : null;
    },
  };
}

/** The two shapes of the page's module: with react-dom/client's createRoot, and with only the legacy render. */
export interface PleskUiLibraries {
  current: string;
  renderOnly: string;
}

/** Builds one entry as an anonymous AMD module (UMD) named `fileName` in `outDir`. */
async function buildModule(entry: string, outDir: string, fileName: string): Promise<string> {
  await build({
    configFile: false,
    logLevel: 'warn',
    root: here,
    plugins: [servedImages()],
    define: { 'define.amd': 'false', 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      outDir,
      emptyOutDir: true,
      sourcemap: false,
      minify: false,
      lib: { entry: path.join(here, entry), formats: ['umd'], name: 'PleskUiLibrary', fileName: () => fileName },
      // The AMD module's value is the object itself, as Plesk's is.
      rolldownOptions: { output: { exports: 'default' } },
    },
  });
  return path.join(outDir, fileName);
}

/**
 * Builds the page's 'plesk-ui-library' module in both shapes (plesk-ui-library.ts and
 * plesk-ui-library-render-only.ts), each into its own directory below `outDir`. Libraries inside them must not
 * register themselves with RequireJS, as in the frontend's own Plesk build.
 */
export async function buildPleskUiLibraries(outDir: string): Promise<PleskUiLibraries> {
  return {
    current: await buildModule('plesk-ui-library.ts', path.join(outDir, 'current'), 'plesk-ui-library.js'),
    renderOnly: await buildModule('plesk-ui-library-render-only.ts', path.join(outDir, 'render-only'), 'plesk-ui-library.js'),
  };
}
