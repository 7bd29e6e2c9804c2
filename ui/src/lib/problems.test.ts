import { describe, expect, it } from 'vitest';
import { parseProblem } from './problems';

describe('parseProblem', () => {
  it('splits file and line from the message and shortens the path', () => {
    expect(
      parseProblem('/opt/kubequest/lessons/04-bad/mission.md:7: unknown field `stag`, expected one of `stage`'),
    ).toEqual({
      location: '04-bad/mission.md:7',
      fullLocation: '/opt/kubequest/lessons/04-bad/mission.md:7',
      message: 'unknown field `stag`, expected one of `stage`',
    });
  });

  it('keeps a file without a line number', () => {
    expect(parseProblem('lessons/05-x/mission.md: cannot read: permission denied')).toEqual({
      location: '05-x/mission.md',
      fullLocation: 'lessons/05-x/mission.md',
      message: 'cannot read: permission denied',
    });
  });

  it('handles Windows paths', () => {
    expect(parseProblem('C:\\kq\\lessons\\06-y\\mission.md:3: bad order')).toMatchObject({
      location: '06-y/mission.md:3',
      message: 'bad order',
    });
  });

  it('shows a line with no file as the whole message', () => {
    expect(parseProblem('mission id `a` is already used')).toEqual({
      location: null,
      fullLocation: null,
      message: 'mission id `a` is already used',
    });
  });
});
