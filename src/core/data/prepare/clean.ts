/**
 * The cleaning step: text repairs (Unicode form, control characters, whitespace), chat structure
 * repair, then filters (empty, script, language, length). Every rule can be switched off and
 * reports what it changed or removed, with file and line.
 */
import { InputError } from '../../errors.ts';
import type { DataRecord, DatasetRecord } from '../records.ts';
import { DEFAULT_CHAT_REPAIR, repairChat, type ChatRepairOptions, type ChatRule } from './chat-repair.ts';
import { guessLanguage, type Language } from './language.ts';
import { describeRecord, hasTrainableContent, mapRecordTexts, recordText, withRecord } from './record-text.ts';
import { allowedShare, scriptProfile, type Script } from './script.ts';
import { runStep, type RecordStep } from './step.ts';
import { RuleTally } from './tally.ts';
import type { CountTokens, StepResult } from './types.ts';
import {
  DEFAULT_WHITESPACE,
  normaliseUnicode,
  removeControlChars,
  repairWhitespace,
  stripEnds,
  type UnicodeForm,
  type WhitespaceOptions,
} from './unicode.ts';

export interface WhitespaceRule extends WhitespaceOptions {
  /** Strip whitespace at both ends of each text (a completion keeps one leading separator). */
  readonly strip: boolean;
}

export interface ScriptRule {
  readonly allowed: readonly Script[];
  /** Least share of a record's letters that must be in allowed scripts. Default 0.5. */
  readonly minShare: number;
}

export interface LanguageRule {
  readonly allowed: readonly Language[];
  /** Keep records the guess cannot judge (short, mixed, other languages). Default true. */
  readonly keepUnknown: boolean;
  readonly minHits: number;
  readonly margin: number;
}

/** Lengths count the content's tokens (all text fields), not the chat template's; token records count their ids. */
export interface LengthRule {
  readonly minTokens?: number;
  readonly maxTokens?: number;
  readonly minChars?: number;
  readonly maxChars?: number;
}

export interface CleanConfig {
  readonly normalize: UnicodeForm | false;
  readonly controlChars: boolean;
  readonly whitespace: WhitespaceRule | false;
  readonly chat: ChatRepairOptions | false;
  readonly empty: boolean;
  readonly scripts: ScriptRule | false;
  readonly languages: LanguageRule | false;
  readonly length: LengthRule | false;
}

export const DEFAULT_CLEAN: CleanConfig = {
  normalize: 'NFC',
  controlChars: true,
  whitespace: { ...DEFAULT_WHITESPACE, strip: true },
  chat: DEFAULT_CHAT_REPAIR,
  empty: true,
  scripts: false,
  languages: false,
  length: false,
};

export interface CleanContext {
  readonly countTokens?: CountTokens;
  /** Examples kept per rule. Default 5. */
  readonly maxExamples?: number;
}

const CHAT_RULES: readonly ChatRule[] = ['unknown-role', 'empty-turn', 'misplaced-system', 'role-order', 'final-turn', 'no-assistant'];

export function createCleanStep(config: CleanConfig, ctx: CleanContext = {}): RecordStep {
  const len = config.length;
  const needsTokens = len !== false && (len.minTokens !== undefined || len.maxTokens !== undefined);
  if (needsTokens && !ctx.countTokens) {
    throw new InputError('prepare config', 'token length limits need a tokenizer to count with; load a model or use minChars/maxChars', 'clean.length');
  }
  const max = ctx.maxExamples ?? 5;
  const tally = (rule: string) => new RuleTally(rule, max);
  const t = {
    normalize: tally(`unicode-${config.normalize || 'NFC'}`),
    control: tally('control-chars'),
    whitespace: tally('whitespace'),
    chat: new Map(CHAT_RULES.map((r) => [r, tally(`chat.${r}`)])),
    empty: tally('empty'),
    scripts: tally('script'),
    languages: tally('language'),
    length: tally('length'),
  };
  const out: DatasetRecord[] = [];
  let seen = 0;

  /** Applies one text rule and tallies the change; returns the (possibly) new record. */
  const textRule = (rec: DatasetRecord, tl: RuleTally, fn: Parameters<typeof mapRecordTexts>[1]): DatasetRecord => {
    const next = mapRecordTexts(rec.record, fn);
    if (next !== rec.record) tl.changed(rec.source, describeRecord(rec.record), describeRecord(next));
    return withRecord(rec, next);
  };

  const push = (input: DatasetRecord): void => {
    seen++;
    let rec = input;
    if (config.normalize) {
      const form = config.normalize;
      rec = textRule(rec, t.normalize, (s) => normaliseUnicode(s, form));
    }
    if (config.controlChars) rec = textRule(rec, t.control, removeControlChars);
    if (config.whitespace) {
      const ws = config.whitespace;
      rec = textRule(rec, t.whitespace, (s, field) => {
        const repaired = repairWhitespace(s, ws);
        return ws.strip ? stripEnds(repaired, field === 'completion') : repaired;
      });
    }
    if (config.chat && rec.record.kind === 'chat') {
      const before = rec.record;
      const fixed = repairChat(before.messages, config.chat);
      if (!fixed.messages) {
        // Only the rule that dropped the record is counted; earlier repairs no longer matter.
        const last = fixed.issues.at(-1)!;
        t.chat.get(last.rule)!.removed(rec.source, describeRecord(before), last.note);
        return;
      }
      if (fixed.issues.length > 0) {
        const after: DataRecord = { kind: 'chat', messages: fixed.messages };
        for (const issue of fixed.issues) t.chat.get(issue.rule)!.changed(rec.source, describeRecord(before), describeRecord(after), issue.note);
        rec = withRecord(rec, after);
      }
    }
    if (config.empty && !hasTrainableContent(rec.record)) {
      t.empty.removed(rec.source, describeRecord(rec.record), 'nothing to train on');
      return;
    }
    const text = recordText(rec.record);
    if (config.scripts && rec.record.kind !== 'tokens') {
      const profile = scriptProfile(text);
      const share = allowedShare(profile, config.scripts.allowed);
      if (share < config.scripts.minShare) {
        t.scripts.removed(rec.source, text, `mostly ${profile.dominant} (${Math.round(share * 100)}% in allowed scripts)`);
        return;
      }
    }
    if (config.languages && rec.record.kind !== 'tokens' && scriptProfile(text).dominant === 'Latin') {
      const rule = config.languages;
      const guess = guessLanguage(text, rule);
      const ok = guess.language === 'unknown' ? rule.keepUnknown : rule.allowed.includes(guess.language);
      if (!ok) {
        t.languages.removed(rec.source, text, `looks like ${guess.language}`);
        return;
      }
    }
    if (len) {
      const tokens = needsTokens ? (rec.record.kind === 'tokens' ? rec.record.inputIds.length : ctx.countTokens!(text)) : 0;
      const chars = len.minChars !== undefined || len.maxChars !== undefined ? Array.from(text).length : 0;
      const why =
        len.minTokens !== undefined && tokens < len.minTokens
          ? `${tokens} tokens < ${len.minTokens}`
          : len.maxTokens !== undefined && tokens > len.maxTokens
            ? `${tokens} tokens > ${len.maxTokens}`
            : rec.record.kind === 'tokens'
              ? null
              : len.minChars !== undefined && chars < len.minChars
                ? `${chars} characters < ${len.minChars}`
                : len.maxChars !== undefined && chars > len.maxChars
                  ? `${chars} characters > ${len.maxChars}`
                  : null;
      if (why) {
        t.length.removed(rec.source, describeRecord(rec.record), why);
        return;
      }
    }
    out.push(rec);
  };

  return {
    name: 'clean',
    push,
    finish(): StepResult {
      const rules = [
        config.normalize ? t.normalize : null,
        config.controlChars ? t.control : null,
        config.whitespace ? t.whitespace : null,
        ...(config.chat ? [...t.chat.values()] : []),
        config.empty ? t.empty : null,
        config.scripts ? t.scripts : null,
        config.languages ? t.languages : null,
        len ? t.length : null,
      ].filter((x): x is RuleTally => x !== null);
      return { records: out, report: { step: 'clean', before: seen, after: out.length, rules: rules.map((r) => r.report()) } };
    },
  };
}

/** Cleans a dataset; the input array and records are not changed. */
export function cleanRecords(records: readonly DatasetRecord[], config: CleanConfig = DEFAULT_CLEAN, ctx: CleanContext = {}): StepResult {
  return runStep(createCleanStep(config, ctx), records);
}
