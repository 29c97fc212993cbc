/** The Worker's API, defined with the platform-free workbench that implements it. */
export type * from '../core/workspace/api.ts';
