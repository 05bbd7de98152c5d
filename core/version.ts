/** The Porthole release, as package.json states it (a unit test holds the two together). */
export const VERSION = '0.1.0';
