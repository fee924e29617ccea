/** /containers/{id}/rename, /pause and /unpause, with dockerd's statuses and wording. */
import { BerthError } from '../../errors';
import { sendEmpty, type Ctx } from '../http/context';
import { badRequest, conflict } from '../http/errors';
import { route } from '../http/router';
import { container } from './containers';

/** docker's own name rule (at least two characters); a leading / is the API's spelling of a name. */
const DOCKER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function rename(ctx: Ctx): void {
  const c = container(ctx);
  const name = ctx.query.get('name') ?? '';
  if (!name) throw badRequest('Neither old nor new names may be empty');
  if (!DOCKER_NAME.test(name)) throw badRequest(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const newName = name.replace(/^\//, '');
  try {
    ctx.berth.rename(c.config.id, newName);
  } catch (e) {
    if (e instanceof BerthError && e.code === 'CONTAINER_EXISTS') {
      const owner = ownerOf(ctx, newName);
      throw conflict(
        `Conflict. The container name "/${newName}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    throw e;
  }
  sendEmpty(ctx, 204);
}

function ownerOf(ctx: Ctx, name: string): string {
  try {
    return ctx.berth.runtime.resolve(name).config.id;
  } catch {
    return '';
  }
}

async function pause(ctx: Ctx): Promise<void> {
  const c = container(ctx);
  await ctx.berth.pause(c.config.id);
  sendEmpty(ctx, 204);
}

function unpause(ctx: Ctx): void {
  const c = container(ctx);
  ctx.berth.unpause(c.config.id);
  sendEmpty(ctx, 204);
}

export const CONTAINER_EXTRA_ROUTES = [
  route('POST', '/containers/{id}/rename', rename),
  route('POST', '/containers/{id}/pause', pause),
  route('POST', '/containers/{id}/unpause', unpause),
];
