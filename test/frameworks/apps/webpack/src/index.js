import { message } from './message.js';

const render = () => {
  document.getElementById('hmr').textContent = message;
};
render();
if (import.meta.webpackHot) import.meta.webpackHot.accept('./message.js', render);
