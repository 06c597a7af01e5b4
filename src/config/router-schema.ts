import { z } from 'zod';
import { positiveDuration, strictMap, text, wholeNumber } from './schema-fields.js';

/**
 * `server.router` and `server.nginx`: which router moves traffic. The
 * embedded proxy is the default (it switches in-process and loses nothing);
 * nginx is for teams that keep nginx in front. Cutover then owns one file
 * (`include_file`), which the team's nginx.conf includes inside `http {}`; it
 * checks every change with `nginx -t -c main_config` and reloads. The server
 * blocks it renders listen on `server.proxy`. docs/nginx-router.md has the
 * setup.
 *
 * haproxy: cutover runs its own HAProxy (2.6 or later) on `server.proxy`,
 * owns its whole config and drives deploys through its Runtime API, with no
 * reload (src/router/haproxy/). `server.haproxy` is optional.
 */
export const ROUTERS = ['proxy', 'nginx', 'haproxy'] as const;

export const routerKind = z.enum(ROUTERS, {
  error: 'expected proxy (the embedded proxy), nginx or haproxy',
});

export const nginxSchema = strictMap(
  {
    main_config: text('expected the path of the nginx.conf nginx runs with, like /etc/nginx/nginx.conf'),
    include_file: text(
      'expected the path of the file cutover writes, included inside http {} by main_config, like /etc/nginx/conf.d/cutover.conf',
    ),
    binary: text('expected the nginx program, like nginx or /usr/sbin/nginx').optional(),
    pid_file: text("expected the path of the nginx master's pid file").optional(),
    prefix: text('expected the directory nginx runs with as -p (its relative paths start there)').optional(),
    verify_timeout: positiveDuration.optional(),
  },
  'expected a map with main_config and include_file, like { main_config: /etc/nginx/nginx.conf, include_file: /etc/nginx/conf.d/cutover.conf }',
);

export type RawNginx = z.output<typeof nginxSchema>;

export const haproxySchema = strictMap(
  {
    binary: text('expected the haproxy program, like haproxy or /usr/sbin/haproxy').optional(),
    threads: wholeNumber(1, 64).optional(),
    verify_timeout: positiveDuration.optional(),
  },
  'expected a map like { binary: haproxy, threads: 1, verify_timeout: 10s }',
);

export type RawHaproxy = z.output<typeof haproxySchema>;
