// Builds ../assets/plotly-pathways.min.js and ../assets/plotly-pathways.json (its manifest).
//
// The explorer's figures use only the trace types listed in TRACES; plotly.js with just those
// parses in about a third of the time of the full 4.8 MB bundle, which is what lets the first
// page (70,000 WebGL points) be ready within 2 s on a 2-core machine without a GPU.
// Same esbuild settings as plotly.js's own esbuild-config.js. Run: npm ci && npm run build
'use strict';
const fs = require('fs');
const path = require('path');
const { build } = require('esbuild');
const { environmentPlugin } = require('esbuild-plugin-environment');
const { glsl } = require('esbuild-plugin-glsl');
const InlineCSSPlugin = require('esbuild-plugin-inline-css');

// scatter is part of plotly.js's core and always included.
const TRACES = ['scatter', 'scattergl', 'heatmap', 'bar', 'histogram', 'sankey'];
const ASSETS = path.join(__dirname, '..', 'assets');
const version = require('plotly.js/package.json').version;

const entry = [
    "'use strict';",
    "var Plotly = require('plotly.js/lib/core');",
    'Plotly.register([',
    ...TRACES.filter((t) => t !== 'scatter').map((t) => `    require('plotly.js/lib/${t}'),`),
    ']);',
    'module.exports = Plotly;',
].join('\n');

build({
    stdin: { contents: entry, resolveDir: __dirname, sourcefile: 'entry.js' },
    outfile: path.join(ASSETS, 'plotly-pathways.min.js'),
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    legalComments: 'inline',
    banner: { js: `/* plotly.js ${version} (MIT licence), traces: ${TRACES.join(', ')}; built by pathways/app/plotly_bundle */` },
    plugins: [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false })],
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    logLevel: 'info',
})
    .then(() => {
        const manifest = { 'plotly.js': version, traces: TRACES };
        fs.writeFileSync(path.join(ASSETS, 'plotly-pathways.json'), JSON.stringify(manifest, null, 2) + '\n');
    })
    .catch(() => process.exit(1));
