import { devRoutes } from './devRoutes.mjs';

export default {
  plugins: [
    {
      name: 'porthole-dev-routes',
      configureServer: (server) => {
        server.middlewares.use(devRoutes);
      },
    },
  ],
};
