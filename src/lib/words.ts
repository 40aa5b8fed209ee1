/** Words shared by the faces, kept free of imports so the first frame (ui/boot.tsx) stays light. */

/** "this Mac" on macOS, "this machine" elsewhere (the demo runs anywhere). */
export function thisMachine(platform: string = process.platform): string {
  return platform === 'darwin' ? 'this Mac' : 'this machine';
}

/** The first task of the wizard, also drawn by the first frame. */
export const lookingAround = (platform: string = process.platform): string => `Looking at ${thisMachine(platform)}: tools, cached models, ports`;
