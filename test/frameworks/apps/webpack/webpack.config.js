import HtmlWebpackPlugin from 'html-webpack-plugin';
import { devRoutes } from './devRoutes.mjs';

export default {
  mode: 'development',
  entry: './src/index.js',
  plugins: [new HtmlWebpackPlugin({ template: './src/index.html' })],
  devServer: {
    hot: true,
    // The one line a proxied webpack-dev-server needs: the page opens its HMR socket on its own
    // host, port and scheme, instead of the host and port the server was started with.
    client: { webSocketURL: 'auto://0.0.0.0:0/ws' },
    setupMiddlewares: (middlewares) => [{ name: 'porthole-dev-routes', middleware: devRoutes }, ...middlewares],
  },
};
