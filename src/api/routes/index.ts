/** Every route of the service, by concern. */
import type { Route } from '../http/router';
import { SYSTEM_ROUTES } from './system';
import { CONTAINER_ROUTES } from './containers';
import { CONTAINER_EXTRA_ROUTES } from './container-extras';
import { ATTACH_ROUTES } from './attach';
import { IMAGE_ROUTES } from './images';
import { SYSTEM_DF_ROUTES } from './system-df';
import { EXEC_ROUTES } from './exec';
import { ARCHIVE_ROUTES } from './archive';
import { NETWORK_ROUTES } from './networks';
import { VOLUME_ROUTES } from './volumes';
import { PUSH_ROUTES } from './push';

export const ROUTES: Route[] = [
  ...SYSTEM_ROUTES,
  ...CONTAINER_ROUTES,
  ...CONTAINER_EXTRA_ROUTES,
  ...ATTACH_ROUTES,
  ...IMAGE_ROUTES,
  ...SYSTEM_DF_ROUTES,
  ...EXEC_ROUTES,
  ...ARCHIVE_ROUTES,
  ...NETWORK_ROUTES,
  ...VOLUME_ROUTES,
  ...PUSH_ROUTES,
];
