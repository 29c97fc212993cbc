/** Name of a per-layer parameter in tabtune's layout, e.g. `layers.3.qkv.weight`. */
export const layerParam = (i: number, name: string): string => `layers.${i}.${name}`;
