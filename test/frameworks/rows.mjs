// The matrix's rows: each a real framework's dev server, pinned to exact versions, running the app
// in apps/<name> (see checks.mjs for the contract every app keeps). `devServer(port)` is the command
// a person runs; `hmr` says which edit to make and what the page shows before and after it;
// `notApplicable` names checks that have no meaning for that dev server, and why.

const VITE = '8.3.8';

export const ROWS = [
  {
    name: 'vite',
    label: 'Vite (vanilla)',
    title: 'Vite',
    dependencies: { vite: VITE },
    shared: ['devRoutes.mjs'],
    devServer: (port) => ['node_modules/.bin/vite', '--port', port, '--strictPort'],
    hmr: { file: 'message.js', from: "'before'", to: "'after'", read: 'text', before: 'before', after: 'after' },
  },
  {
    name: 'vite-react',
    label: 'Vite + React',
    title: 'Vite + React',
    dependencies: { vite: VITE, '@vitejs/plugin-react': '6.3.0', react: '19.3.1', 'react-dom': '19.3.1' },
    shared: ['devRoutes.mjs'],
    devServer: (port) => ['node_modules/.bin/vite', '--port', port, '--strictPort'],
    hmr: { file: 'App.jsx', from: '>before<', to: '>after<', read: 'text', before: 'before', after: 'after' },
  },
  {
    name: 'sveltekit',
    label: 'SvelteKit',
    title: 'SvelteKit',
    dependencies: { '@sveltejs/kit': '3.2.0', svelte: '5.57.3', '@sveltejs/vite-plugin-svelte': '7.3.1', vite: VITE },
    devServer: (port) => ['node_modules/.bin/vite', 'dev', '--port', port, '--strictPort'],
    hmr: { file: 'src/routes/+page.svelte', from: '>before<', to: '>after<', read: 'text', before: 'before', after: 'after' },
  },
  {
    name: 'next',
    label: 'Next.js (app router)',
    title: 'Next.js',
    dependencies: { next: '16.4.6', react: '19.3.1', 'react-dom': '19.3.1' },
    devServer: (port) => ['node_modules/.bin/next', 'dev', '--port', port, '--hostname', '127.0.0.1'],
    hmr: { file: 'app/page.jsx', from: '>before<', to: '>after<', read: 'text', before: 'before', after: 'after' },
  },
  {
    name: 'nuxt',
    label: 'Nuxt',
    title: 'Nuxt',
    dependencies: { nuxt: '4.5.2', vue: '3.5.45', 'vue-router': '5.5.1' },
    devServer: (port) => ['node_modules/.bin/nuxt', 'dev', '--port', port, '--host', '127.0.0.1'],
    hmr: { file: 'app/pages/index.vue', from: '>before<', to: '>after<', read: 'text', before: 'before', after: 'after' },
  },
  {
    name: 'astro',
    label: 'Astro',
    title: 'Astro',
    dependencies: { astro: '7.3.5' },
    devServer: (port) => ['node_modules/.bin/astro', 'dev', '--port', port, '--host', '127.0.0.1'],
    // An edit to an .astro page reloads it in full, by design; styles update in place.
    hmr: {
      file: 'src/styles/hmr.css',
      from: 'rgb(0, 0, 255)',
      to: 'rgb(0, 128, 0)',
      read: 'color',
      before: 'rgb(0, 0, 255)',
      after: 'rgb(0, 128, 0)',
    },
  },
  {
    name: 'angular',
    label: 'Angular CLI',
    title: 'Angular',
    dependencies: {
      '@angular/cli': '22.2.7',
      '@angular/build': '22.2.7',
      '@angular/core': '22.2.6',
      '@angular/common': '22.2.6',
      '@angular/compiler': '22.2.6',
      '@angular/compiler-cli': '22.2.6',
      '@angular/platform-browser': '22.2.6',
      rxjs: '7.8.2',
      tslib: '2.9.1',
      typescript: '6.0.3',
    },
    devServer: (port) => ['node_modules/.bin/ng', 'serve', '--port', port, '--host', '127.0.0.1'],
    hmr: { file: 'src/app.component.html', from: '>before<', to: '>after<', read: 'text', before: 'before', after: 'after' },
    notApplicable: Object.fromEntries(
      ['form', 'redirect', 'session'].map((check) => [check, 'ng serve serves the client app only; its API is a server of its own']),
    ),
  },
  {
    name: 'webpack',
    label: 'webpack-dev-server',
    title: 'webpack-dev-server',
    dependencies: { 'webpack-dev-server': '6.1.0', webpack: '5.112.2', 'webpack-cli': '7.3.1', 'html-webpack-plugin': '5.6.8' },
    shared: ['devRoutes.mjs'],
    devServer: (port) => ['node_modules/.bin/webpack', 'serve', '--port', port, '--host', '127.0.0.1'],
    hmr: { file: 'src/message.js', from: "'before'", to: "'after'", read: 'text', before: 'before', after: 'after' },
    setting: "client.webSocketURL: 'auto://0.0.0.0:0/ws'",
  },
  {
    name: 'express',
    label: 'Express + express-session, trust proxy',
    title: 'Express',
    dependencies: { express: '5.3.0', 'express-session': '1.19.0' },
    devServer: (port) => ['node', 'server.js', port],
    notApplicable: { hmr: 'Express has no HMR' },
  },
];

/** The version each row runs, for the matrix's heading: the first dependency is the framework. */
export function rowVersion(row) {
  const [name, version] = Object.entries(row.dependencies)[0];
  return `${name} ${version}`;
}
