import react from '@vitejs/plugin-react';
import { devRoutes } from './devRoutes.mjs';

export default {
  plugins: [
    react(),
    {
      name: 'porthole-dev-routes',
      configureServer: (server) => {
        server.middlewares.use(devRoutes);
      },
    },
  ],
};
