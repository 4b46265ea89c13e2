; Virality Studio: Windows installer around the PyInstaller folder (dist\virality-studio).
;
;   makensis -DVERSION=0.1.0 -DSRCDIR=..\..\dist\virality-studio -DOUTFILE=..\..\dist\ViralityStudio-0.1.0-Setup.exe installer.nsi
;
; SRCDIR holds ViralityStudio.exe (windowed: Start menu, "Open with"), virality-studio.exe (console: the command
; line) and _internal\. Installs for all users under Program Files, with a Start-menu entry, an uninstaller
; (listed in Settings > Apps) and "Open with Virality Studio" for .mp4, .mov, .mkv and .webm (offered beside the
; user's player, never taking the default). Relative paths are relative to this script.

Unicode true
!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef SRCDIR
  !define SRCDIR "..\..\dist\virality-studio"
!endif
!ifndef OUTFILE
  !define OUTFILE "..\..\dist\ViralityStudio-${VERSION}-Setup.exe"
!endif

!define APPNAME "Virality Studio"
!define EXE "ViralityStudio.exe"
!define PROGID "ViralityStudio.Video"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\ViralityStudio"

!include "MUI2.nsh"
!include "x64.nsh"

Name "${APPNAME} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APPNAME}"
InstallDirRegKey HKLM "Software\ViralityStudio" "InstallDir"
RequestExecutionLevel admin
SetCompressor /SOLID lzma
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APPNAME} installer"
VIAddVersionKey "LegalCopyright" "Virality Studio"

!define MUI_ICON "..\icons\virality-studio.ico"
!define MUI_UNICON "..\icons\virality-studio.ico"
!define MUI_ABORTWARNING
!define MUI_FINISHPAGE_RUN "$INSTDIR\${EXE}"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${APPNAME} needs 64-bit Windows."
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

!macro OpenWith EXT
  WriteRegStr HKLM "Software\Classes\${EXT}\OpenWithProgids" "${PROGID}" ""
  WriteRegStr HKLM "Software\Classes\Applications\${EXE}\SupportedTypes" "${EXT}" ""
!macroend

!macro UnOpenWith EXT
  DeleteRegValue HKLM "Software\Classes\${EXT}\OpenWithProgids" "${PROGID}"
!macroend

Section "Install"
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  RMDir /r "$INSTDIR\_internal"  ; an upgrade must not keep libraries the new version dropped
  File /r "${SRCDIR}\*.*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"

  CreateShortcut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\${EXE}" "" "$INSTDIR\${EXE}" 0

  ; "Open with": a ProgID for videos, listed under each extension's OpenWithProgids
  WriteRegStr HKLM "Software\Classes\${PROGID}" "" "Video (${APPNAME})"
  WriteRegStr HKLM "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\${EXE},0"
  WriteRegStr HKLM "Software\Classes\${PROGID}\shell\open" "FriendlyAppName" "${APPNAME}"
  WriteRegStr HKLM "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\${EXE}" "%1"'
  WriteRegStr HKLM "Software\Classes\Applications\${EXE}" "FriendlyAppName" "${APPNAME}"
  WriteRegStr HKLM "Software\Classes\Applications\${EXE}\shell\open\command" "" '"$INSTDIR\${EXE}" "%1"'
  !insertmacro OpenWith ".mp4"
  !insertmacro OpenWith ".m4v"
  !insertmacro OpenWith ".mov"
  !insertmacro OpenWith ".mkv"
  !insertmacro OpenWith ".webm"
  ; the command line: `virality-studio score clip.mp4` from Run and from shells that read App Paths
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\App Paths\virality-studio.exe" "" "$INSTDIR\virality-studio.exe"

  WriteRegStr HKLM "Software\ViralityStudio" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "Virality Studio"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\${EXE},0"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'  ; SHCNE_ASSOCCHANGED
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  Delete "$SMPROGRAMS\${APPNAME}.lnk"
  !insertmacro UnOpenWith ".mp4"
  !insertmacro UnOpenWith ".m4v"
  !insertmacro UnOpenWith ".mov"
  !insertmacro UnOpenWith ".mkv"
  !insertmacro UnOpenWith ".webm"
  DeleteRegKey HKLM "Software\Classes\${PROGID}"
  DeleteRegKey HKLM "Software\Classes\Applications\${EXE}"
  DeleteRegKey HKLM "Software\Microsoft\Windows\CurrentVersion\App Paths\virality-studio.exe"
  DeleteRegKey HKLM "Software\ViralityStudio"
  DeleteRegKey HKLM "${UNINSTKEY}"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\virality-studio.exe"
  Delete "$INSTDIR\Uninstall.exe"
  RMDir "$INSTDIR"  ; only if empty: never delete what the user put there
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd
