import { describe, expect, it } from 'vitest';
import { learnerNameProblem, NAME_PROMPT_KEY, shouldAskLearnerName, skipLearnerNamePrompt } from './settings';

/** A Storage stand-in: the window's localStorage in the app. */
const memory = () => {
  const items = new Map<string, string>();
  return { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v) };
};

describe('the learner name', () => {
  it('accepts a real name and refuses what the class report cannot use, saying why', () => {
    expect(learnerNameProblem('  Ada Lovelace ')).toBeNull();
    expect(learnerNameProblem('Zoë O’Neil')).toBeNull();
    expect(learnerNameProblem('   '), 'an empty name cannot tell learners apart').toMatch(/name your teacher knows/);
    expect(learnerNameProblem('x'.repeat(81)), 'over the 80 characters Rust keeps').toMatch(/80 characters/);
    expect(learnerNameProblem('Ada\nBob'), 'a line break would split a report row').toMatch(/one line/);
  });

  it('is asked for once on the mission map: not when a name is stored, not after "Not now"', () => {
    const storage = memory();
    expect(shouldAskLearnerName(null, storage), 'not before the progress is known').toBe(false);
    expect(shouldAskLearnerName({ learner: null }, storage), 'a first run with no name asks').toBe(true);
    expect(shouldAskLearnerName({ learner: { name: 'Ada' } }, storage), 'a stored name is never asked again').toBe(false);
    skipLearnerNamePrompt(storage);
    expect(storage.getItem(NAME_PROMPT_KEY)).toBe('skipped');
    expect(shouldAskLearnerName({ learner: null }, storage), 'a skipped prompt does not come back and block the learner').toBe(false);
  });

  it('still asks when the window has no storage, which blocks nothing', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
    };
    expect(shouldAskLearnerName({ learner: null }, broken)).toBe(true);
    expect(() => skipLearnerNamePrompt({ setItem: () => { throw new Error('denied'); } })).not.toThrow();
  });
});
