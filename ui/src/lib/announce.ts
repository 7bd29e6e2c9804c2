// What the window's live region says when the mission catalog changes state, so screen-reader
// users hear the same news sighted users see.

import type { MissionList } from './bindings/MissionList';
import type { Progress } from './bindings/Progress';
import { errorCopy } from './errors';
import type { Load } from './loader';
import { deriveMissionMap, summarise } from './missions';

export function catalogAnnouncement(
  state: Load<MissionList>,
  solved: ReadonlySet<string>,
  progress: Progress | null = null,
): string {
  switch (state.status) {
    case 'loading':
      return state.slow ? 'Missions are taking longer than usual to load.' : 'Loading missions…';
    case 'failed':
      return `${errorCopy(state.error.kind).title}: ${state.error.message}`;
    case 'ready': {
      const { missions, problems } = state.value;
      const broken =
        problems.length === 0
          ? ''
          : ` ${problems.length === 1 ? '1 lesson' : `${problems.length} lessons`} could not be loaded.`;
      if (missions.length === 0) return `No missions found.${broken}`;
      return `${summarise(deriveMissionMap(missions, solved, progress))}.${broken}`;
    }
  }
}
