// The mounted keys file, by the names the gateway's code and tests have always used.
export { StaticKeys as ApiKeys, sha256Hex as hashApiKey, type Principal } from '@keelson/identity';
