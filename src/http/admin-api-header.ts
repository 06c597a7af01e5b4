/**
 * Every answer of the admin API carries this header, so a client can tell it
 * from whatever else answers on a URL it was given: the proxy (which answers
 * the apps' requests), an app, another web server. Without it, a CUTOVER_URL
 * pointing at the proxy reads an app's HTML as if it were the API.
 */
export const ADMIN_API_HEADER = 'x-cutover-api';
export const ADMIN_API_HEADER_VALUE = 'admin';
