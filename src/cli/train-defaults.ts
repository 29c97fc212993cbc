export const DERIVED_HELP = 'default: chosen from the model and data size';
