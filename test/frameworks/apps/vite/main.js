import { message } from './message.js';

const render = (text) => {
  document.getElementById('hmr').textContent = text;
};
render(message);
if (import.meta.hot) import.meta.hot.accept('./message.js', (next) => render(next.message));
