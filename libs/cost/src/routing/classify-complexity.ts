import type { CostRequest } from '../request';

export type ComplexityLevel = 'simple' | 'moderate' | 'complex';

export interface Complexity {
  /** 0-100: the sum of the feature weights below, capped. */
  score: number;
  level: ComplexityLevel;
  /** Each feature that added to the score, e.g. `reasoning_cue:prove`, in the order checked. */
  reasons: string[];
}

/** Score thresholds of the levels: simple below 15, complex from 40. */
export const COMPLEXITY_THRESHOLDS = { moderate: 15, complex: 40 } as const;

/** Feature weights, documented in the README with the example table the spec checks. */
export const COMPLEXITY_WEIGHTS = {
  mediumPrompt: 10, // latest user message of 600+ characters
  longPrompt: 25, // 2,000+ characters (instead of mediumPrompt)
  longContext: 10, // the whole conversation 12,000+ characters
  toolsOffered: 10, // 1-4 tools
  manyTools: 20, // 5+ tools (instead of toolsOffered)
  reasoningCue: 15, // each distinct cue, at most twice
  code: 20, // a fenced code block or code-looking lines
  math: 20, // LaTeX, formulas or math vocabulary
  someDepth: 5, // 3-5 user turns so far
  deepConversation: 10, // 6+ user turns (instead of someDepth)
} as const;

/** Words that ask for reasoning rather than recall; matched case-insensitively on word boundaries. */
const REASONING_CUES: readonly [string, RegExp][] = [
  ['prove', /\bprov(?:e|es|ing)\b|\bproof\b/i],
  ['step_by_step', /\bstep[- ]by[- ]step\b/i],
  ['analyze', /\banaly[sz](?:e|es|is|ing)\b/i],
  ['derive', /\bderiv(?:e|ation)\b/i],
  ['explain_why', /\bexplain (?:why|how)\b/i],
  ['compare', /\bcompar(?:e|ison)\b|\btrade-?offs?\b/i],
  ['design', /\b(?:design|architect(?:ure)?)\b/i],
  ['optimize', /\boptimi[sz](?:e|ation)\b/i],
  ['debug', /\bdebug\b|\bfix (?:this|the) bug\b/i],
  ['refactor', /\brefactor/i],
  ['evaluate', /\b(?:evaluate|critique|assess)\b/i],
];

const CODE = /```|^\s*(?:def |class |function |import |from \S+ import|const |let |#include|SELECT |public |fn )/im;
const MATH = /\\(?:frac|int|sum|sqrt|lim|prod)(?![a-z])|\$\$|[∑∫√∂≤≥≠]|\b[a-z0-9)]\s*\^\s*\d|\b(?:integral|derivative|equation|theorem|lemma|matrix|eigen\w*|probability|square root|irrational)\b/i;

/**
 * A fast, deterministic complexity estimate of a request (no model call, microseconds): prompt length, tools
 * offered, reasoning cues, code, math and conversation depth of the latest user message. It decides which
 * tier of a routing policy serves the request, and its reasons go into the routing decision.
 */
export function classifyComplexity(request: Pick<CostRequest, 'messages' | 'tools'>): Complexity {
  const w = COMPLEXITY_WEIGHTS;
  const reasons: string[] = [];
  let score = 0;
  const add = (reason: string, weight: number) => {
    reasons.push(reason);
    score += weight;
  };

  const userTurns = request.messages.filter((m) => m.role === 'user');
  const latest = userTurns.at(-1)?.content ?? '';
  const contextChars = request.messages.reduce((sum, m) => sum + m.content.length, 0);

  if (latest.length >= 2_000) add('long_prompt', w.longPrompt);
  else if (latest.length >= 600) add('medium_prompt', w.mediumPrompt);
  if (contextChars >= 12_000) add('long_context', w.longContext);

  const tools = request.tools?.length ?? 0;
  if (tools >= 5) add('many_tools', w.manyTools);
  else if (tools > 0) add('tools_offered', w.toolsOffered);

  let cues = 0;
  for (const [name, pattern] of REASONING_CUES) {
    if (cues < 2 && pattern.test(latest)) {
      add(`reasoning_cue:${name}`, w.reasoningCue);
      cues++;
    }
  }
  if (CODE.test(latest)) add('code', w.code);
  if (MATH.test(latest)) add('math', w.math);

  if (userTurns.length >= 6) add('deep_conversation', w.deepConversation);
  else if (userTurns.length >= 3) add('some_depth', w.someDepth);

  score = Math.min(100, score);
  const level: ComplexityLevel = score >= COMPLEXITY_THRESHOLDS.complex ? 'complex' : score >= COMPLEXITY_THRESHOLDS.moderate ? 'moderate' : 'simple';
  return { score, level, reasons };
}
