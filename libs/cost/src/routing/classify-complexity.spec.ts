import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage } from '@keelson/contracts';
import { classifyComplexity, type ComplexityLevel } from './classify-complexity';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const tool = (name: string) => ({ name, description: name, parameters: {} });
const paragraph = 'The quarterly report shows revenue growth across all regions, with the strongest gains in the north. '.repeat(7);
const document = 'Section text of a long contract with clauses on liability, payment terms and termination. '.repeat(25);
const chat = (turns: number, last: string): ChatMessage[] =>
  Array.from({ length: turns - 1 }, (_, i) => [user(`turn ${i}`), { role: 'assistant' as const, content: 'ok' }]).flat().concat(user(last));

/** The README's example table: prompt, tools, expected level and reasons. Keep the two in step. */
const EXAMPLES: { name: string; messages: ChatMessage[]; tools?: number; level: ComplexityLevel; score: number; reasons: string[] }[] = [
  { name: 'greeting', messages: [user('hi')], level: 'simple', score: 0, reasons: [] },
  { name: 'fact lookup', messages: [user('What is the capital of France?')], level: 'simple', score: 0, reasons: [] },
  { name: 'short translation', messages: [user("Translate 'good morning' into Spanish.")], level: 'simple', score: 0, reasons: [] },
  { name: 'summarise a paragraph', messages: [user(`Summarise this: ${paragraph}`)], level: 'simple', score: 10, reasons: ['medium_prompt'] },
  { name: 'chit-chat deep in a session', messages: chat(7, 'ok, and then?'), level: 'simple', score: 10, reasons: ['deep_conversation'] },
  { name: 'comparison', messages: [user('Compare PostgreSQL and MySQL for a write-heavy workload.')], level: 'moderate', score: 15, reasons: ['reasoning_cue:compare'] },
  { name: 'tool use', messages: [user('Book me a table for two tonight.')], tools: 2, level: 'simple', score: 10, reasons: ['tools_offered'] },
  { name: 'many tools', messages: [user('Plan my trip to Rome: flights, hotel, dinner.')], tools: 6, level: 'moderate', score: 20, reasons: ['many_tools'] },
  { name: 'explain step by step', messages: [user('Explain why the sky is blue, step by step.')], level: 'moderate', score: 30, reasons: ['reasoning_cue:step_by_step', 'reasoning_cue:explain_why'] },
  { name: 'debug a snippet', messages: [user('Debug this:\n```js\nconst x = [1,2,3].map(n => n * 2)\n```')], level: 'moderate', score: 35, reasons: ['reasoning_cue:debug', 'code'] },
  { name: 'proof', messages: [user('Prove that the square root of 2 is irrational.')], level: 'moderate', score: 35, reasons: ['reasoning_cue:prove', 'math'] },
  { name: 'analyse a long document', messages: [user(`Analyze the risks in this contract: ${document}`)], level: 'complex', score: 40, reasons: ['long_prompt', 'reasoning_cue:analyze'] },
  { name: 'derive with LaTeX', messages: [user('Derive the closed form of \\sum_{k=1}^{n} k^2 and prove it by induction.')], level: 'complex', score: 50, reasons: ['reasoning_cue:prove', 'reasoning_cue:derive', 'math'] },
  {
    name: 'refactor code step by step with tools',
    messages: [user('Refactor this step by step and optimize it:\n```ts\nfunction f(a) { return a.filter(x => x).map(x => x * 2) }\n```')],
    tools: 3,
    level: 'complex',
    score: 60,
    reasons: ['tools_offered', 'reasoning_cue:step_by_step', 'reasoning_cue:optimize', 'code'],
  },
];

describe('classifyComplexity over the documented example table', () => {
  for (const ex of EXAMPLES) {
    it(`${ex.name}: ${ex.level} (${ex.score})`, () => {
      const tools = ex.tools ? Array.from({ length: ex.tools }, (_, i) => tool(`t${i}`)) : undefined;
      const got = classifyComplexity({ messages: ex.messages, ...(tools ? { tools } : {}) });
      assert.deepEqual(got, { score: ex.score, level: ex.level, reasons: ex.reasons }, `example "${ex.name}"`);
    });
  }

  it('counts at most two reasoning cues and caps the score at 100', () => {
    const got = classifyComplexity({ messages: [user(`Prove, derive, analyze, compare, design and optimize: ${document}\n\`\`\`py\ndef f(): pass\n\`\`\` \\int x dx`)], tools: Array.from({ length: 8 }, (_, i) => tool(`t${i}`)) });
    assert.equal(got.reasons.filter((r) => r.startsWith('reasoning_cue')).length, 2);
    assert.ok(got.score <= 100);
    assert.equal(got.level, 'complex');
  });

  it('reads only the latest user message for cues, not the system prompt', () => {
    const got = classifyComplexity({ messages: [{ role: 'system', content: 'Always analyze and prove everything step by step.' }, user('hi')] });
    assert.equal(got.score, 0);
  });
});
