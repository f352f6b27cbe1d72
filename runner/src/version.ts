declare const __WASMCI_VERSION__: string | undefined;
/** Injected by the bundler from package.json; "dev" when running from source. */
export const VERSION: string = typeof __WASMCI_VERSION__ === 'string' ? __WASMCI_VERSION__ : 'dev';
