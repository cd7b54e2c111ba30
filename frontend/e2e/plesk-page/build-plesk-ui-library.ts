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

/**
 * Builds the page's 'plesk-ui-library' module (plesk-ui-library.ts) as an anonymous AMD module (UMD) into
 * `outDir` and returns the file. Libraries inside it must not register themselves with RequireJS, as in the
 * frontend's own Plesk build.
 */
export async function buildPleskUiLibrary(outDir: string): Promise<string> {
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
      lib: { entry: path.join(here, 'plesk-ui-library.ts'), formats: ['umd'], name: 'PleskUiLibrary', fileName: () => 'plesk-ui-library.js' },
      // The AMD module's value is the object itself, as Plesk's is.
      rolldownOptions: { output: { exports: 'default' } },
    },
  });
  return path.join(outDir, 'plesk-ui-library.js');
}
