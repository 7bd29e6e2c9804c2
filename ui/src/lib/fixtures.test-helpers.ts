// Mission fixtures shaped like the bundled curriculum, shared by the unit tests.

import type { MissionSummary } from './bindings/MissionSummary';

export const mission = (over: Partial<MissionSummary> & Pick<MissionSummary, 'id'>): MissionSummary => ({
  title: over.id,
  order: 1,
  stage: 'run',
  difficulty: 'beginner',
  chapter: 'pods',
  requires: [],
  chapterRequires: [],
  ...over,
});

export const curriculum: MissionSummary[] = [
  mission({ id: 'crash-loop-backoff', title: 'The pod that keeps falling over', order: 1, stage: 'run' }),
  mission({
    id: 'image-pull-backoff',
    title: 'The image that never arrives',
    order: 2,
    stage: 'pull',
    chapter: 'images',
    requires: ['crash-loop-backoff'],
    chapterRequires: ['crash-loop-backoff'],
  }),
  mission({
    id: 'pending-insufficient-cpu',
    title: 'The pod with nowhere to go',
    order: 3,
    stage: 'schedule',
    chapter: 'scheduling',
    requires: ['image-pull-backoff'],
    chapterRequires: ['image-pull-backoff'],
  }),
];
