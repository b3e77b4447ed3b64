// First start of the compose stack's MongoDB only (/docker-entrypoint-initdb.d, run by the image's entrypoint
// as the root user it just created): audit-service's own user, readWrite on its database and nothing else.
// The password is the mounted secret file, never an environment value; audit-service reads the same file
// (MONGODB_PASSWORD_FILE) and keeps the user name in MONGODB_URL.
const pwd = require('fs').readFileSync('/run/secrets/mongodb_password', 'utf8').replace(/\r?\n$/, '');
db.getSiblingDB('keelson_audit').createUser({ user: 'keelson', pwd, roles: [{ role: 'readWrite', db: 'keelson_audit' }] });
