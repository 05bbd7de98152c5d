import { defineNuxtConfig } from 'nuxt/config';

export default defineNuxtConfig({ compatibilityDate: '2026-01-01', devtools: { enabled: false }, telemetry: false });
