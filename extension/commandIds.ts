/** The extension's command ids: package.json contributes all but `menu`, the status bar's own. */
export const COMMANDS = {
  share: 'porthole.sharePort',
  stop: 'porthole.stopSharing',
  copyUrl: 'porthole.copyPublicUrl',
  copyLink: 'porthole.copyPrivateLink',
  openUrl: 'porthole.openPublicUrl',
  showLog: 'porthole.showRequestLog',
  setToken: 'porthole.setRelayToken',
  qrCode: 'porthole.showQrCode',
  menu: 'porthole.shareMenu',
} as const;
