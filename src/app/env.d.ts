/** Set by vite.config.ts: identifies the build (the service worker cache is named after it). */
declare const __TABTUNE_BUILD__: string;
