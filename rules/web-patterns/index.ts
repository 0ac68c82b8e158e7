// The generated expressions of the web rules, by file, rule id and selection (see sync.ts and README.md).
import { COMMAND_INJECTION, POSSIBLE_COMMAND_INJECTION } from './command.js';
import { SQL_INJECTION, XSS } from './injection.js';
import { SSRF_INTERNAL, SSRF_METADATA } from './ssrf.js';
import { TEMPLATE_INJECTION, TEMPLATE_PROBE } from './template.js';
import { FILE_INCLUSION, PATH_TRAVERSAL } from './traversal.js';

export interface GeneratedRule {
  file: string;
  /** The rule's id in the file. */
  id: string;
  /** Selection name -> regular expression (used as c-uri|re|i), or a list of them (any matches). */
  selections: Record<string, string | readonly string[]>;
}

export const GENERATED: GeneratedRule[] = [
  { file: 'web_injection.yml', id: '8c437b85-57cd-4a50-920a-fe6189848e48', selections: SQL_INJECTION },
  { file: 'web_injection.yml', id: 'bcd408ab-3e3a-4cb6-9f86-0d68fbd99c39', selections: XSS },
  { file: 'web_path_traversal.yml', id: '6b26dd89-f1c8-427a-9547-bee8973ddd97', selections: PATH_TRAVERSAL },
  { file: 'web_path_traversal.yml', id: 'e30001b4-56c9-4c54-baaf-89b72e569646', selections: FILE_INCLUSION },
  { file: 'web_command_injection.yml', id: '6c60ded9-124e-49f1-87de-b7037ceacbe4', selections: COMMAND_INJECTION },
  { file: 'web_command_injection.yml', id: '7a555dfc-436d-4d31-9f1f-1f3dfef1f7c6', selections: POSSIBLE_COMMAND_INJECTION },
  { file: 'web_ssrf.yml', id: '7dce6a5e-72a5-4ebb-ab15-bbc021598963', selections: SSRF_METADATA },
  { file: 'web_ssrf.yml', id: '86a52d32-ed25-459b-aba9-4f72c3f8b873', selections: SSRF_INTERNAL },
  { file: 'web_template_injection.yml', id: '42f81fe6-5d8e-401f-ab3e-8f0e8a40b76c', selections: TEMPLATE_INJECTION },
  { file: 'web_template_injection.yml', id: 'cf9ba29f-7aeb-4b0d-abb2-014c83a14a22', selections: TEMPLATE_PROBE },
];
