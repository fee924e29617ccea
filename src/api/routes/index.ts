/** Every route of the service, by concern. */
import type { Route } from '../http/router';
import { SYSTEM_ROUTES } from './system';
import { CONTAINER_ROUTES } from './containers';
import { ATTACH_ROUTES } from './attach';
import { EXEC_ROUTES } from './exec';

export const ROUTES: Route[] = [...SYSTEM_ROUTES, ...CONTAINER_ROUTES, ...ATTACH_ROUTES, ...EXEC_ROUTES];
