import { describe, expect, it } from 'vitest';
import { catalogAnnouncement } from './announce';
import { curriculum } from './fixtures.test-helpers';

const none = new Set<string>();

describe('catalogAnnouncement', () => {
  it('announces loading and slowness', () => {
    expect(catalogAnnouncement({ status: 'loading', slow: false }, none)).toBe('Loading missions…');
    expect(catalogAnnouncement({ status: 'loading', slow: true }, none)).toMatch(/longer than usual/);
  });

  it('announces the loaded map and any broken lessons', () => {
    expect(catalogAnnouncement({ status: 'ready', value: { missions: curriculum, problems: [] } }, none)).toBe(
      '3 missions · 1 open · 2 locked.',
    );
    expect(
      catalogAnnouncement({ status: 'ready', value: { missions: curriculum, problems: ['a', 'b'] } }, none),
    ).toBe('3 missions · 1 open · 2 locked. 2 lessons could not be loaded.');
  });

  it('announces an empty catalog and a failure with its message', () => {
    expect(catalogAnnouncement({ status: 'ready', value: { missions: [], problems: [] } }, none)).toBe(
      'No missions found.',
    );
    expect(
      catalogAnnouncement({ status: 'failed', error: { kind: 'lessons', message: 'no folder' } }, none),
    ).toBe('The lessons could not be read: no folder');
  });
});
