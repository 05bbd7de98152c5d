// Generates the Vite app the page-load benchmark serves: a few hundred plain ES modules, as a dev
// server serves them, unbundled. Components import their children in a tree several levels deep and
// share helper modules; four sections bring their own CSS; the app uses one large library (three.js,
// which Vite pre-bundles into one file of about 1.3 MB); a lazy part loads with import() after the
// first render, as a route would. Same seed, same app.
//
// The page is ready when every component has rendered: #app gets data-rendered="<count>" and
// window.__benchReadyAt the time since navigation start. src/hmr-probe.js accepts its own updates and
// records when one arrived, for the HMR measurement.
import fs from 'node:fs';
import path from 'node:path';

const SECTIONS = 4;
const HELPERS = 12;
const LAZY = 12;
const MAX_DEPTH = 6;

/** mulberry32: a small seeded generator, so that every run serves the same app. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'invoice',
  'customer',
  'shipment',
  'ledger',
  'account',
  'balance',
  'order',
  'refund',
  'report',
  'region',
  'forecast',
  'margin',
  'supplier',
  'inventory',
  'quota',
  'payment',
  'status',
  'pending',
  'archived',
  'priority',
];

function phrase(next, words) {
  return Array.from({ length: words }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ');
}

/** A component's source: some data, a little logic, and the renders of its children. */
function component({ id, children, helper, css, usesLibrary, next }) {
  const rows = Array.from(
    { length: 14 },
    () => `  { label: '${phrase(next, 3)}', value: ${Math.floor(next() * 10000)}, note: '${phrase(next, 5)}' },`,
  );
  return `// Component ${id}: a panel of figures, as a dashboard has hundreds.
${css ? `import './${css}';\n` : ''}import { format, total } from '../../lib/${helper}.js';
${usesLibrary ? "import { MathUtils } from 'three';\n" : ''}${children.map((c) => `import render${c} from './${c}.js';`).join('\n')}

const ROWS = [
${rows.join('\n')}
];

function summary(rows) {
  const sum = total(rows.map((row) => row.value));
  const largest = rows.reduce((best, row) => (row.value > best.value ? row : best), rows[0]);
  return \`\${rows.length} rows, \${format(sum)} in all, largest: \${largest.label}\`;
}

export default function render${id}(parent, counter) {
  const panel = document.createElement('section');
  panel.className = 'panel ${id}';
  const title = document.createElement('h3');
  title.textContent = '${phrase(next, 2)} (${id})';
  const text = document.createElement('p');
  text.textContent = summary(ROWS)${usesLibrary ? " + ' · ' + MathUtils.clamp(ROWS.length, 0, 10)" : ''};
  panel.append(title, text);
  parent.append(panel);
  counter.count++;
${children.map((c) => `  render${c}(panel, counter);`).join('\n')}
}
`;
}

function helperModule(index) {
  const base = index === 0 ? '' : "import { round } from './helper0.js';\n";
  const round = index === 0 ? 'export function round(n) {\n  return Math.round(n * 100) / 100;\n}\n' : '';
  return `// Shared helpers, imported by many components.
${base}${round}
export function total(values) {
  return values.reduce((sum, v) => sum + v, 0);
}

export function format(n) {
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: ${index % 3} }).format(${index === 0 ? 'n' : 'round(n)'});
}
`;
}

function stylesheet(name, rules, next) {
  const lines = [`/* ${name} */`];
  for (let i = 0; i < rules; i++) {
    const hue = Math.floor(next() * 360);
    lines.push(
      `.${name}-${i} { color: hsl(${hue} 40% 30%); border-left: 3px solid hsl(${hue} 60% 60%); padding: ${i % 7}px ${i % 11}px; }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Writes the app into `dir` and returns what the benchmark needs to know about it. The component
 * tree is built breadth first from each section's root: 2–4 children a node, at most MAX_DEPTH deep,
 * until `components` modules exist.
 */
export function generateApp(dir, { components = 300, seed = 10 } = {}) {
  const next = random(seed);
  const write = (file, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  const staticCount = components - LAZY;
  const nodes = [];
  const queue = [];
  for (let s = 0; s < SECTIONS; s++) {
    const root = { id: `C${nodes.length}`, section: s, depth: 1, children: [] };
    nodes.push(root);
    queue.push(root);
  }
  while (queue.length > 0 && nodes.length < staticCount) {
    const parent = queue.shift();
    if (parent.depth >= MAX_DEPTH) continue;
    const count = 2 + Math.floor(next() * 3);
    for (let i = 0; i < count && nodes.length < staticCount; i++) {
      const child = { id: `C${nodes.length}`, section: parent.section, depth: parent.depth + 1, children: [] };
      parent.children.push(child.id);
      nodes.push(child);
      queue.push(child);
    }
  }
  for (const node of nodes) {
    write(
      `src/components/s${node.section}/${node.id}.js`,
      component({
        ...node,
        next,
        helper: `helper${Math.floor(next() * HELPERS)}`,
        css: node.depth === 1 ? `section${node.section}.css` : undefined,
        usesLibrary: next() < 0.1,
      }),
    );
  }
  for (let s = 0; s < SECTIONS; s++) write(`src/components/s${s}/section${s}.css`, stylesheet(`s${s}`, 60, next));
  for (let h = 0; h < HELPERS; h++) write(`src/lib/helper${h}.js`, helperModule(h));

  const lazy = Array.from({ length: LAZY }, (_, i) => `L${i}`);
  write(
    'src/components/lazy/index.js',
    `// A part of the app loaded on demand, after the first render, as a route is.
${lazy.map((id) => `import render${id} from './${id}.js';`).join('\n')}

export default function renderLazy(parent, counter) {
${lazy.map((id) => `  render${id}(parent, counter);`).join('\n')}
}
`,
  );
  for (const id of lazy) {
    write(
      `src/components/lazy/${id}.js`,
      component({ id, children: [], helper: `helper${Math.floor(next() * HELPERS)}`, usesLibrary: false, next }),
    );
  }

  const roots = nodes.filter((n) => n.depth === 1);
  write(
    'src/main.js',
    `// The app: renders every section, then the lazy part, then says it is ready.
import './styles/theme.css';
import { Color } from 'three';
import { show } from './hmr-probe.js';
${roots.map((n) => `import render${n.id} from './components/s${n.section}/${n.id}.js';`).join('\n')}

const app = document.getElementById('app');
app.style.borderTopColor = \`#\${new Color(0x3366aa).getHexString()}\`;
const counter = { count: 0 };
${roots.map((n) => `render${n.id}(app, counter);`).join('\n')}
show(document.getElementById('hmr'));
const { default: renderLazy } = await import('./components/lazy/index.js');
renderLazy(app, counter);
window.__benchReadyAt = performance.now();
app.dataset.rendered = String(counter.count);
`,
  );
  write('src/hmr-probe.js', hmrProbe('initial'));
  write('src/styles/theme.css', stylesheet('theme', 80, next));
  write('src/styles/global.css', stylesheet('global', 200, next));
  write(
    'index.html',
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Porthole page-load benchmark</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/src/styles/global.css">
</head>
<body>
<p id="hmr"></p>
<div id="app"></div>
<script type="module" src="/src/main.js"></script>
</body>
</html>
`,
  );
  write('package.json', '{ "name": "page-bench-app", "private": true, "type": "module" }\n');
  write(
    'vite.config.js',
    `export default {
  clearScreen: false,
  cacheDir: '.vite',
  optimizeDeps: { include: ['three'] },
  server: { host: '127.0.0.1', strictPort: true },
};
`,
  );
  return {
    components: nodes.length + lazy.length,
    depth: Math.max(...nodes.map((n) => n.depth)),
    hmrProbe: path.join(dir, 'src/hmr-probe.js'),
  };
}

/**
 * The module the HMR measurement edits. It accepts its own updates; each new version shows its stamp
 * and records when it arrived (Date.now(), the same clock the benchmark reads before its edit).
 */
export function hmrProbe(stamp) {
  return `export const stamp = '${stamp}';

export function show(element) {
  element.textContent = stamp;
}

if (import.meta.hot) {
  import.meta.hot.accept((next) => {
    if (!next) return;
    next.show(document.getElementById('hmr'));
    window.__benchHmr = { stamp: next.stamp, at: Date.now() };
  });
}
`;
}
